"""Message creatives: templates with placeholders and offer-bound links."""
