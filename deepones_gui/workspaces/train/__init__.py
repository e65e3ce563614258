"""The Train workspace (page, recipe form, run view); the work lives in backend.train."""
