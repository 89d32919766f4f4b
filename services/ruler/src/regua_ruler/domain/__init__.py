"""The collection ruler as pure rules: rulers as data, segment choice, step planning, firing decisions."""
