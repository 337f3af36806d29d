"""The BPMN script sandbox: compile-time rules (policy), run-time guards and budgets (guards,
limits), and the deploy-time check of every script and expression of a definition (deploy_check).
"""
