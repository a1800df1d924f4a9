"""Moving sessions in and out of kit: export (JSONL, Markdown, a self-contained HTML viewer), sharing
as a secret gist with secret scanning, and import of Go kit, pi (v1-v3) and kit Markdown files.

Each module has one job: `export` writes a file by extension, `markdown` and `html` render, `secrets`
finds and redacts credentials, `gist` talks to the `gh` CLI, `share` joins them, `pi` converts pi
sessions, `markdown_import` reads kit's Markdown back, and `importer` writes the new session file.
Nothing here imports the engine or a face: the CLI, the REPL and the API all call these functions.
"""
