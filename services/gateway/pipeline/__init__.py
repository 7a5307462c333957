"""The voice pipeline: small processors between the socket and the session core.

listener: caller audio -> decode -> 16 kHz -> VAD -> turn detection -> speech recognition
speaker:  reply text -> sentences -> synthesis -> output rate -> encode -> paced reply.audio
Model inference runs in the inference worker pool (``inference.py``), never on the event loop.
"""
