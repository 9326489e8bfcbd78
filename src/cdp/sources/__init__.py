"""Sources (CRM, web, app, shop …) and the write keys that authenticate them."""
