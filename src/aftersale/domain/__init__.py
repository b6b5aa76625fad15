"""Pure business rules of aftersale: no I/O, no frameworks, only the standard library."""
