"""API handlers, one module per concern. Each handler: check input, call a plain function, answer JSON."""
