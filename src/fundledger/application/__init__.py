"""The application layer: commands in, events into the store, results out."""
