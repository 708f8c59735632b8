"""Running a job: claim a plate, run its stage chain under the lease, publish, notify."""
