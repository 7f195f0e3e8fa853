"""Mail: reading what customers send and composing what the robot sends back."""
