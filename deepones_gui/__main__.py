from deepones_gui.launcher import main

main()
