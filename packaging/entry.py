"""The frozen bundle's entry: the same launcher as the `deepones` console script."""

from deepones_gui.launcher import main

main()
