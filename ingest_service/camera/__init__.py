"""The camera solve and the files artists import it from."""
