# Registers the torch-katas plugin (device and kata fixtures, seeding, timeouts) for every pytest run
# started in this project, including an IDE's test explorer. An installed engine registers it through its
# pytest11 entry point too, under the same name, so it is registered once; this line keeps a checkout that
# has not been reinstalled since working.
pytest_plugins = ["kata_runner.plugin"]
