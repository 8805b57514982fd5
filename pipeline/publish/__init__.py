"""Publishing: the review page, the podcast feed and the public site, made from the manifest."""
