# Registers the torch-katas plugin (device and kata fixtures, seeding, timeouts) for every pytest run
# started in this project, including an IDE's test explorer.
pytest_plugins = ["kata_runner.plugin"]
