"""Neural models: where weights come from, where they run, and the two we use."""
