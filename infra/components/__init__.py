"""One construct per capability (STYLE 5); each takes keyword-only typed props and reads no context."""
