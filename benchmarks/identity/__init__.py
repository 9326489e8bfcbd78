"""Identity resolution quality and speed (SPEC 10): FEBRL3/FEBRL4 F1 beside plain Splink, synthetic scale."""
