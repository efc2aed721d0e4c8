"""`python -m bot.engine run ...`: Rasa's command line (bot/engine/main.py)."""

from bot.engine.main import main

main()
