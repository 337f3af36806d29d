"""Declarative process packages: a folder (or zip) of BPMN + DMN + forms/<step>.json + process.toml.

`manifest` reads and validates process.toml against manifest.schema.json; `package` holds a
package's files; `loader` builds the `ProcessConfig` the rest of the engine runs; `hooks` turns
the manifest's routing, clocks and rules into the config's hooks; `store` deploys a package as a
definition version and resolves a key to its latest deployed package; `upload` checks a zip.
"""
