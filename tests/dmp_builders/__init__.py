"""The in-process DMP test client (client.py) over the client kit (simulator.kit)."""
