# %post of hathor-node (rpm): system user, state dir, config permissions.
if [ -x /usr/bin/systemd-sysusers ]; then
	systemd-sysusers /usr/lib/sysusers.d/hathor.conf || :
elif ! getent passwd hathor >/dev/null; then
	useradd --system --user-group --home-dir /var/lib/hathor \
		--no-create-home --shell /sbin/nologin \
		--comment "Hathor Network node" hathor || :
fi
install -d -o hathor -g hathor -m 0750 /var/lib/hathor || :
chown root:hathor /etc/hathor /etc/hathor/hathor.conf || :
chmod 0750 /etc/hathor || :
chmod 0640 /etc/hathor/hathor.conf || :
systemctl daemon-reload >/dev/null 2>&1 || :
