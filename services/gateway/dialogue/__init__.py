"""The agent's brain: dialogue providers behind one interface, and the rules around them."""
