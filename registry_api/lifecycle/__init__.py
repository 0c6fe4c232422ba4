"""Lifecycle: batches (一企一批一码), items (一企一物一码), their EPCIS 2.0 events, recalls and
alerts. The items' states and what scans of them show belong to codesvc; this domain owns
who may record what."""
