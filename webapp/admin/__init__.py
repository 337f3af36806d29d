"""管理: users, org units, role grants, process deployment and case operations (admins only;
every check is made in the engine)."""
from webapp.admin import packages  # noqa: F401  (流程包 and 角色目录 routes on the same blueprint)
from webapp.admin import users_import  # noqa: F401  (用户 › 从 Excel 导入, same blueprint)
from webapp.admin.views import bp

__all__ = ["bp"]
