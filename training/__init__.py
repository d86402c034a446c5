"""Turning YAML intent templates into trained intent classifiers."""
