"""Built-in problem generators."""
