"""Built-in tools the model can call: read, write, edit, bash, ls, grep."""
