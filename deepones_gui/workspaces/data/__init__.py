"""The Data workspace: browse, search, curate and export DeepData (see ``page.DataPage``)."""
