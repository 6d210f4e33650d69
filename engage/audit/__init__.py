"""Who changed which journey, template, messaging policy or broadcast, and how."""
