# %preun of hathor-node (rpm): stop the node on erase (not on upgrade).
if [ "$1" = 0 ]; then
	systemctl stop hathor-node.service >/dev/null 2>&1 || :
fi
