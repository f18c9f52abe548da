"""The support desk: numbered tickets, transcripts, response times, support hours."""
