"""The seeded generator of real-shaped rows: the embedded sample, `traces sample` and the benchmark's inputs."""
