"""Build hook: every wheel ships the Lua scripts it runs. The client reads sluice's lua/ at run time; in a
checkout that is the repository's lua/ (two folders up), in an installed wheel the copy put in
sluice_client/lua here. An sdist carries the copy as lua/ beside this file, so a wheel built from it has it
too. No copy of lua/ is ever committed under clients/python: it could drift from the scripts the Node
workers run."""

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        root = Path(self.root)
        for source in (root / "lua", root.parent.parent / "lua"):
            if (source / "add.lua").is_file() and (source / "init.lua").is_file():
                break
        else:
            raise RuntimeError(
                f"no lua/ to ship: neither {root / 'lua'} nor {root.parent.parent / 'lua'} holds sluice's scripts; "
                f"build from clients/python in a checkout of the sluice repository"
            )
        if self.target_name == "wheel":
            build_data["force_include"][str(source)] = "sluice_client/lua"
        elif source != root / "lua":
            build_data["force_include"][str(source)] = "lua"
