"""DeepOnes Studio's Qt views: windows, workspaces, widgets. Thin: the work lives in ``backend``."""
