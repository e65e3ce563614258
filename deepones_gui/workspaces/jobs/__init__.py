"""The Jobs workspace (Qt): job list, metric charts, log view, GPU monitor."""
