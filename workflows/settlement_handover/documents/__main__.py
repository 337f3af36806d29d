"""Write the first versions of the handover's templates."""
from engine.documents.authoring import write_template
from workflows.settlement_handover.documents import DOCUMENTS, TEXTS, TYPES

for key, blocks in TEXTS.items():
    write_template(DOCUMENTS.template(key), TYPES[key].title, blocks)
