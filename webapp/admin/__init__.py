"""管理: users, org units, role grants, process deployment and case operations (admins only;
every check is made in the engine)."""
from webapp.admin.views import bp

__all__ = ["bp"]
