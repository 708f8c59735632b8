"""Publishing a job's results: version folders, output files, the manifest (the commit point)."""
