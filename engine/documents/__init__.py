"""Documents from templates: numbered notices (文号) filled from a case's data and history.

`catalogue` declares the document types and which step issues which (a process's
`ProcessConfig.documents`), `numbers` issues the 文号 from a row-locked counter, `render` fills a
.docx template (docxtpl) and renders a PDF with an embedded Chinese font (fpdf2), `issue` stores
both as attachments of the case with a history event, inside the step's own transaction, and
`drafts` makes an unnumbered draft on demand.
"""
