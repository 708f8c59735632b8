"""The web dashboard: jobs live, one job's results, and browser upload into the drop zone."""
