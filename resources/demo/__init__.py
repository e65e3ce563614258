"""Demo programs that ship with the app (the offline demo and the tests run them)."""
