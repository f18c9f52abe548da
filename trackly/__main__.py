from trackly.cli import main

main()
