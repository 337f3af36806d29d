"""Write the first version of the placement's template."""
from engine.documents.authoring import write_template
from workflows.job_placement.documents import DOCUMENTS, TEXTS, TYPES

for key, blocks in TEXTS.items():
    write_template(DOCUMENTS.template(key), TYPES[key].title, blocks)
