#!/usr/bin/env bash
# setup-wordpress.sh - a real WordPress (Debian bookworm package 6.1.x) on http://127.0.0.1:8081 for the
# WordPress publishing tests. Apache + mod_php + MariaDB from Debian packages; no systemd needed, nothing
# downloaded except Debian packages. The Blog Poster connector mu-plugin is installed from
# integrations/wordpress/ of this repository.
#
#   bash scripts/setup-wordpress.sh [setup]   install/configure/start (idempotent; ~30 s first time, ~2 s after)
#   bash scripts/setup-wordpress.sh status    show what is running
#   bash scripts/setup-wordpress.sh stop      stop the apache2 + mariadbd started by this script
#   bash scripts/setup-wordpress.sh reset     drop DB + uploads + app password, then setup again
#
# Result: credentials in $WP_ENV_FILE (default /var/lib/wordpress-test/wp-test.env):
#   WP_URL, WP_API, WP_USER, WP_APP_PASSWORD, WP_ADMIN_PASSWORD
# Every tunable below can be overridden from the environment. Runs as root (CI and this project's machines).
set -Eeuo pipefail
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLUGIN_SRC="$REPO_DIR/integrations/wordpress/blog-poster.php"

WP_PORT="${WP_PORT:-8081}"
WP_BIND="${WP_BIND:-127.0.0.1}"
WP_URL="${WP_URL:-http://127.0.0.1:${WP_PORT}}"
WP_TITLE="${WP_TITLE:-WP Integration Test}"
WP_ADMIN_USER="${WP_ADMIN_USER:-admin}"
WP_ADMIN_PASSWORD="${WP_ADMIN_PASSWORD:-admin-pass-123}"     # wp-admin login password (NOT usable for REST)
WP_ADMIN_EMAIL="${WP_ADMIN_EMAIL:-admin@example.com}"
WP_APP_NAME="${WP_APP_NAME:-integration-tests}"               # label of the application password
WP_DB_NAME="${WP_DB_NAME:-wordpress_test}"
WP_DB_USER="${WP_DB_USER:-wp_test}"
WP_DB_PASSWORD="${WP_DB_PASSWORD:-wp_test_pw}"
WP_ENV_FILE="${WP_ENV_FILE:-/var/lib/wordpress-test/wp-test.env}"
WP_CONFIG_NAME="wptest"                  # -> /etc/wordpress/config-wptest.php (via SetEnv WORDPRESS_CONFIG)
LIBDIR=/usr/local/lib/wordpress-test     # helper PHP scripts
STATEDIR=/var/lib/wordpress-test         # salts, saved app password
LOGDIR=/var/log/wordpress-test           # WP_DEBUG_LOG
WPDIR=/usr/share/wordpress
CONTENT=/var/lib/wordpress/wp-content
PACKAGES=(wordpress wordpress-theme-twentytwentythree apache2 libapache2-mod-php mariadb-server
          php-mysql php-gd php-xml php-mbstring php-curl php-intl php-zip curl)

die()  { echo "setup-wordpress: ERROR: $*" >&2; exit 1; }
log()  { echo "setup-wordpress: $*"; }
trap 'rc=$?; echo "setup-wordpress: ERROR: command failed (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; exit $rc' ERR
now()  { date +%s.%N; }
since(){ awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1fs", b-a}'; }
wpphp(){ (cd /tmp && runuser -u www-data -- php "$@"); }   # run a PHP helper as the web user

[ "$(id -u)" = 0 ] || die "must run as root"
[ -r /etc/debian_version ] || die "Debian only"
case "$WP_ADMIN_USER$WP_DB_NAME$WP_DB_USER$WP_DB_PASSWORD" in *[!A-Za-z0-9_-]*) die "admin user / DB name / DB user / DB password: use only [A-Za-z0-9_-]";; esac
case "$WP_URL" in *"'"*|*'\'*) die "bad WP_URL";; esac

mariadb_up() { mariadb-admin --protocol=socket ping >/dev/null 2>&1; }
apache_pid() { local p; p=$(cat /run/apache2/apache2.pid 2>/dev/null) || return 1; kill -0 "$p" 2>/dev/null && echo "$p"; }
http_code()  { curl -sS -o /dev/null -w '%{http_code}' --max-time 20 "$@" 2>/dev/null || true; }

# ensure_dir MODE OWNER:GROUP DIR...: creates each missing directory with that mode and owner (OWNER:GROUP
# may be empty). A directory that exists is left exactly as it is: WP_ENV_FILE=/tmp/wp.env must not turn
# /tmp (1777) into 0755, which would stop MariaDB and every other user from writing temp files there.
ensure_dir() {
  local mode=$1 owner=$2 dir; shift 2
  for dir in "$@"; do
    [ -d "$dir" ] && continue
    mkdir -p -- "$(dirname -- "$dir")"
    mkdir -m "$mode" -- "$dir"
    [ -z "$owner" ] || chown "$owner" -- "$dir"
  done
}

# ------------------------------------------------------------------ packages
install_packages() {
  local missing=() p t
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then log "packages: all present"; return; fi
  t=$(now); log "apt-get install ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/tmp/setup-wordpress-apt.log 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get -o DPkg::Lock::Timeout=600 update -q >>/tmp/setup-wordpress-apt.log 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >>/tmp/setup-wordpress-apt.log 2>&1 \
      || die "apt-get install failed, see /tmp/setup-wordpress-apt.log"
  fi
  log "packages installed in $(since "$t")"
}

# ------------------------------------------------------------------ mariadb
start_mariadb() {
  ensure_dir 0755 mysql:root /run/mysqld
  if mariadb_up; then log "mariadb: already running (pid $(cat /run/mysqld/mysqld.pid 2>/dev/null || echo ?))"; return; fi
  [ -d /var/lib/mysql/mysql ] || die "MariaDB datadir /var/lib/mysql not initialised (mariadb-server postinst failed?)"
  # no systemd here: start the daemon directly; it drops to the mysql user and writes /run/mysqld/mysqld.pid
  start-stop-daemon --start --oknodo --background --pidfile /run/mysqld/mysqld.pid \
    --exec /usr/sbin/mariadbd -- --user=mysql 9>&-    # the daemon must not inherit the setup lock
  local i; for i in $(seq 1 120); do mariadb_up && break; sleep 0.25; done
  mariadb_up || die "mariadbd did not come up (see: mariadbd --user=mysql in foreground, /var/log/mysql)"
  log "mariadb: started pid $(cat /run/mysqld/mysqld.pid)"
}

setup_db() {
  # root@localhost uses unix_socket auth on Debian, so plain `mariadb` as root works
  mariadb --protocol=socket <<SQL || die "creating database/user failed"
CREATE DATABASE IF NOT EXISTS \`${WP_DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '${WP_DB_USER}'@'localhost' IDENTIFIED BY '${WP_DB_PASSWORD}';
ALTER USER '${WP_DB_USER}'@'localhost' IDENTIFIED BY '${WP_DB_PASSWORD}';
GRANT ALL PRIVILEGES ON \`${WP_DB_NAME}\`.* TO '${WP_DB_USER}'@'localhost';
FLUSH PRIVILEGES;
SQL
  mariadb -u"$WP_DB_USER" -p"$WP_DB_PASSWORD" "$WP_DB_NAME" -e 'SELECT 1' >/dev/null || die "DB login as $WP_DB_USER failed"
  log "db: ${WP_DB_NAME} / ${WP_DB_USER}@localhost ok"
}

# ------------------------------------------------------------------ wordpress files
write_wp_files() {
  ensure_dir 0750 root:www-data "$STATEDIR"
  ensure_dir 0755 www-data:www-data "$LOGDIR" "$CONTENT/mu-plugins" "$CONTENT/uploads"
  ensure_dir 0755 "" "$LIBDIR"
  # salts: generated once, reused on re-runs (changing them only logs people out; app passwords survive)
  if [ ! -s "$STATEDIR/salts.php" ]; then
    php -r 'echo "<?php\n"; foreach (["AUTH_KEY","SECURE_AUTH_KEY","LOGGED_IN_KEY","NONCE_KEY","AUTH_SALT","SECURE_AUTH_SALT","LOGGED_IN_SALT","NONCE_SALT"] as $k) printf("define(%s, %s);\n", var_export($k, true), var_export(bin2hex(random_bytes(32)), true));' >"$STATEDIR/salts.php"
    chown root:www-data "$STATEDIR/salts.php"; chmod 0640 "$STATEDIR/salts.php"
  fi
  # Debian's /usr/share/wordpress/wp-config.php loads /etc/wordpress/config-$WORDPRESS_CONFIG.php when
  # $_SERVER['WORDPRESS_CONFIG'] is set (apache SetEnv / CLI bootstrap below), else config-<Host header>.php.
  local cfg=/etc/wordpress/config-${WP_CONFIG_NAME}.php
  cat >"$cfg.tmp" <<EOF
<?php
/* Generated by setup-wordpress.sh - WordPress integration-test target. Re-run the script instead of editing. */
define('DB_NAME', '${WP_DB_NAME}');
define('DB_USER', '${WP_DB_USER}');
define('DB_PASSWORD', '${WP_DB_PASSWORD}');
define('DB_HOST', 'localhost');               // unix socket /run/mysqld/mysqld.sock
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
require '${STATEDIR}/salts.php';
\$table_prefix = 'wp_';
define('WP_HOME', '${WP_URL}');
define('WP_SITEURL', '${WP_URL}');
define('WP_CONTENT_DIR', '${CONTENT}');
define('WP_ENVIRONMENT_TYPE', 'local');       // => application passwords allowed over plain http
define('WP_HTTP_BLOCK_EXTERNAL', true);       // no internet: fail fast instead of hanging on api.wordpress.org
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('DISALLOW_FILE_MODS', true);
define('FS_METHOD', 'direct');
define('WP_DEBUG', true);
define('WP_DEBUG_DISPLAY', false);            // never leak notices into JSON responses
define('WP_DEBUG_LOG', '${LOGDIR}/debug.log');
EOF
  chown root:www-data "$cfg.tmp"; chmod 0640 "$cfg.tmp"; mv -f "$cfg.tmp" "$cfg"

  cat >"$CONTENT/mu-plugins/wp-test-no-mail.php" <<'EOF'
<?php
/* Plugin Name: WP test: no outgoing mail (there is no MTA; avoids "sh: /usr/sbin/sendmail: not found") */
add_filter('pre_wp_mail', function ($return, $atts) { return true; }, 10, 2);
EOF
  # The connector plugin ships in this repository; production sites install the same file.
  [ -r "$PLUGIN_SRC" ] || die "missing $PLUGIN_SRC"
  rm -f "$CONTENT/mu-plugins/wp-test-external-id.php"
  install -m 0644 "$PLUGIN_SRC" "$CONTENT/mu-plugins/blog-poster.php"
  chmod 0644 "$CONTENT"/mu-plugins/*.php

  cat >"$LIBDIR/wp-bootstrap.php" <<EOF
<?php
// Load WordPress from the CLI through Debian's wp-config.php (which needs a request context).
\$_SERVER['WORDPRESS_CONFIG'] = '${WP_CONFIG_NAME}';
\$_SERVER['HTTP_HOST']        = parse_url('${WP_URL}', PHP_URL_HOST) . ':' . (parse_url('${WP_URL}', PHP_URL_PORT) ?: 80);
\$_SERVER['SERVER_NAME']      = parse_url('${WP_URL}', PHP_URL_HOST);
\$_SERVER['SERVER_PORT']      = (string) (parse_url('${WP_URL}', PHP_URL_PORT) ?: 80);
\$_SERVER['REQUEST_URI']      = '/';
\$_SERVER['REQUEST_METHOD']   = 'GET';
\$_SERVER['REMOTE_ADDR']      = '127.0.0.1';
EOF
  cat >"$LIBDIR/wp-install.php" <<'EOF'
<?php
// php wp-install.php TITLE ADMIN_USER ADMIN_PASSWORD ADMIN_EMAIL   (idempotent)
require __DIR__ . '/wp-bootstrap.php';
define('WP_INSTALLING', true);
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
list(, $title, $user, $pass, $email) = $argv;
if (is_blog_installed()) {
    $u = get_user_by('login', $user);
    if (!$u) { fwrite(STDERR, "WordPress already installed but admin user '$user' is missing (use: reset)\n"); exit(3); }
    if (!wp_check_password($pass, $u->user_pass, $u->ID)) wp_set_password($pass, $u->ID);
    echo "already installed (admin user_id={$u->ID})\n";
} else {
    $r = wp_install($title, $user, $email, true, '', wp_slash($pass));
    if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message() . "\n"); exit(2); }
    echo "installed (admin user_id={$r['user_id']})\n";
}
if (get_option('permalink_structure') !== '/%postname%/') {
    global $wp_rewrite;
    $wp_rewrite->set_permalink_structure('/%postname%/');
    flush_rewrite_rules(false);                 // soft flush: rules live in the apache vhost, not .htaccess
}
update_option('blogname', $title);
EOF
  cat >"$LIBDIR/wp-app-password.php" <<'EOF'
<?php
// php wp-app-password.php USER APP_NAME -> prints a NEW plaintext application password (replaces same-named ones)
require __DIR__ . '/wp-bootstrap.php';
require '/usr/share/wordpress/wp-load.php';
list(, $login, $name) = $argv;
$u = get_user_by('login', $login);
if (!$u) { fwrite(STDERR, "no such user: $login\n"); exit(2); }
if (!wp_is_application_passwords_available_for_user($u)) {
    fwrite(STDERR, "application passwords unavailable (needs https or WP_ENVIRONMENT_TYPE=local)\n"); exit(3);
}
foreach (WP_Application_Passwords::get_user_application_passwords($u->ID) as $item) {
    if ($item['name'] === $name) WP_Application_Passwords::delete_application_password($u->ID, $item['uuid']);
}
$r = WP_Application_Passwords::create_new_application_password($u->ID, array('name' => $name));
if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message() . "\n"); exit(4); }
echo $r[0], "\n";   // shown once; WordPress stores only a hash
EOF
  cat >"$LIBDIR/wp-eval.php" <<'EOF'
<?php
// php wp-eval.php 'PHP CODE'  - run code with WordPress loaded (poor man's `wp eval`)
require __DIR__ . '/wp-bootstrap.php';
require '/usr/share/wordpress/wp-load.php';
eval($argv[1]);
EOF
  cat >"$LIBDIR/php-s-router.php" <<EOF
<?php
// Alternative to apache (single process, dev only):
//   runuser -u www-data -- php -d upload_max_filesize=64M -d post_max_size=64M \\
//     -S ${WP_BIND}:${WP_PORT} -t /usr/share/wordpress ${LIBDIR}/php-s-router.php
\$_SERVER['WORDPRESS_CONFIG'] = '${WP_CONFIG_NAME}';
\$path = urldecode(parse_url(\$_SERVER['REQUEST_URI'], PHP_URL_PATH));
if (strncmp(\$path, '/wp-content/', 12) === 0 && strpos(\$path, '..') === false) {
    \$f = '/var/lib/wordpress' . \$path;            // Debian keeps wp-content outside the docroot
    if (is_file(\$f) && substr(\$f, -4) !== '.php') {
        \$t = array('png'=>'image/png','jpg'=>'image/jpeg','jpeg'=>'image/jpeg','gif'=>'image/gif','webp'=>'image/webp',
                   'css'=>'text/css','js'=>'application/javascript','svg'=>'image/svg+xml','pdf'=>'application/pdf');
        \$e = strtolower(pathinfo(\$f, PATHINFO_EXTENSION));
        header('Content-Type: ' . (isset(\$t[\$e]) ? \$t[\$e] : (mime_content_type(\$f) ?: 'application/octet-stream')));
        header('Content-Length: ' . filesize(\$f));
        readfile(\$f);
        return true;
    }
}
if (\$path !== '/' && is_file('/usr/share/wordpress' . \$path)) return false;
\$_SERVER['SCRIPT_NAME'] = '/index.php';
\$_SERVER['SCRIPT_FILENAME'] = '/usr/share/wordpress/index.php';
chdir('/usr/share/wordpress');
require '/usr/share/wordpress/index.php';
EOF
  chmod 0644 "$LIBDIR"/*.php
  log "wordpress config: $cfg, mu-plugins, helpers in $LIBDIR"
}

# ------------------------------------------------------------------ apache
setup_apache() {
  cat >/etc/apache2/sites-available/wordpress-test.conf <<EOF
# Generated by setup-wordpress.sh - WordPress integration-test target
Listen ${WP_BIND}:${WP_PORT}
<VirtualHost ${WP_BIND}:${WP_PORT}>
    ServerName 127.0.0.1
    ServerAlias localhost
    DocumentRoot ${WPDIR}
    DirectoryIndex index.php index.html
    SetEnv WORDPRESS_CONFIG ${WP_CONFIG_NAME}
    Alias /wp-content ${CONTENT}
    ErrorLog \${APACHE_LOG_DIR}/wordpress-test-error.log
    CustomLog \${APACHE_LOG_DIR}/wordpress-test-access.log combined
    php_admin_value upload_max_filesize 64M
    php_admin_value post_max_size 64M
    <Directory ${WPDIR}>
        Options FollowSymLinks
        AllowOverride None
        Require all granted
        # pretty permalinks (/wp-json/..., /slug/) without touching Debian's /etc/wordpress/htaccess
        RewriteEngine On
        RewriteBase /
        RewriteRule ^index\.php$ - [L]
        RewriteCond %{REQUEST_FILENAME} !-f
        RewriteCond %{REQUEST_FILENAME} !-d
        RewriteRule . /index.php [L]
    </Directory>
    <Directory ${CONTENT}>
        Options FollowSymLinks
        AllowOverride None
        Require all granted
    </Directory>
</VirtualHost>
EOF
  echo "ServerName 127.0.0.1" >/etc/apache2/conf-available/servername.conf
  a2enmod -q rewrite >/dev/null
  a2enconf -q servername >/dev/null
  a2ensite -q wordpress-test >/dev/null
  # keep apache off port 80: drop Debian's default site and its Listen 80
  a2dissite -q 000-default >/dev/null 2>&1 || true
  sed -i 's/^Listen 80$/#Listen 80   # disabled by setup-wordpress.sh/' /etc/apache2/ports.conf
  apache2ctl configtest >/tmp/setup-wordpress-apache.log 2>&1 || { cat /tmp/setup-wordpress-apache.log >&2; die "apache config test failed"; }
  local pid
  if pid=$(apache_pid); then
    apache2ctl graceful 9>&-; log "apache: reloaded (pid $pid)"
  else
    if ss -ltn "( sport = :${WP_PORT} )" | grep -q LISTEN; then die "port ${WP_PORT} is already taken by something else"; fi
    apache2ctl start 9>&-
    log "apache: started"
  fi
  local i code=000; for i in $(seq 1 60); do code=$(http_code "$WP_URL/wp-login.php"); [ "$code" != 000 ] && break; sleep 0.25; done
  [ "$code" != 000 ] || die "apache does not answer on $WP_URL (see /var/log/apache2/error.log)"
  log "apache: pid $(apache_pid) listening on ${WP_BIND}:${WP_PORT}"
}

# ------------------------------------------------------------------ install + app password
install_wordpress() {
  local out
  out=$(wpphp "$LIBDIR/wp-install.php" "$WP_TITLE" "$WP_ADMIN_USER" "$WP_ADMIN_PASSWORD" "$WP_ADMIN_EMAIL" 2>&1) \
    || die "wp_install failed: $out"
  log "wordpress: $(echo "$out" | tail -1)"
}

ensure_app_password() {
  local saved="" code
  [ -s "$STATEDIR/app-password" ] && saved=$(cat "$STATEDIR/app-password")
  if [ -n "$saved" ]; then
    code=$(http_code -u "$WP_ADMIN_USER:$saved" "$WP_URL/wp-json/wp/v2/users/me")
    if [ "$code" = 200 ]; then APP_PASSWORD=$saved; log "app password: saved one still valid"; return; fi
    log "app password: saved one rejected (HTTP $code), creating a new one"
  fi
  APP_PASSWORD=$(wpphp "$LIBDIR/wp-app-password.php" "$WP_ADMIN_USER" "$WP_APP_NAME") || die "could not create application password"
  [ -n "$APP_PASSWORD" ] || die "empty application password"
  umask 077; printf '%s\n' "$APP_PASSWORD" >"$STATEDIR/app-password"; umask 022
  log "app password: created ('$WP_APP_NAME')"
}

smoke_test() {
  local c
  c=$(http_code "$WP_URL/wp-json/");                                   [ "$c" = 200 ] || die "GET /wp-json/ -> $c"
  c=$(http_code "$WP_URL/?rest_route=/wp/v2/posts");                   [ "$c" = 200 ] || die "GET ?rest_route=/wp/v2/posts -> $c"
  c=$(http_code -u "$WP_ADMIN_USER:$APP_PASSWORD" "$WP_URL/wp-json/wp/v2/users/me"); [ "$c" = 200 ] || die "app password auth -> $c"
  c=$(http_code -u "$WP_ADMIN_USER:wrong-password" "$WP_URL/wp-json/wp/v2/users/me"); [ "$c" = 401 ] || die "wrong password gave $c, expected 401"
  c=$(http_code -u "$WP_ADMIN_USER:$APP_PASSWORD" "$WP_URL/wp-json/wp/v2/posts?blog_poster_external_id=x&status=any"); [ "$c" = 200 ] || die "external_id query -> $c"
  log "smoke test: REST, app-password auth, 401 on wrong password, external_id filter - ok"
}

write_env() {
  ensure_dir 0755 "" "$(dirname "$WP_ENV_FILE")"
  cat >"$WP_ENV_FILE.tmp" <<EOF
# written by setup-wordpress.sh $(date -u +%FT%TZ)
WP_URL=${WP_URL}
WP_API=${WP_URL}/wp-json
WP_USER=${WP_ADMIN_USER}
WP_APP_PASSWORD=${APP_PASSWORD}
WP_ADMIN_PASSWORD=${WP_ADMIN_PASSWORD}
EOF
  chmod 0644 "$WP_ENV_FILE.tmp"     # throw-away test credentials for a 127.0.0.1-only site
  mv -f "$WP_ENV_FILE.tmp" "$WP_ENV_FILE"
}

# ------------------------------------------------------------------ commands
cmd_setup() {
  local t0 t; t0=$(now)
  t=$(now); install_packages;                 T_APT=$(since "$t")
  t=$(now)
  start_mariadb; setup_db; write_wp_files; setup_apache; install_wordpress; ensure_app_password; smoke_test; write_env
  T_CFG=$(since "$t")
  log "timings: packages ${T_APT}, configure+start+install ${T_CFG}, total $(since "$t0")"
  cat <<EOF

WordPress $(wpphp "$LIBDIR/wp-eval.php" 'echo get_bloginfo("version");' 2>/dev/null) is up:
  site        ${WP_URL}/            (wp-admin: ${WP_URL}/wp-admin/  ${WP_ADMIN_USER} / ${WP_ADMIN_PASSWORD})
  REST        ${WP_URL}/wp-json/   (or ${WP_URL}/?rest_route=/)
  Basic auth  ${WP_ADMIN_USER}:${APP_PASSWORD}     (application password; the login password is refused by REST)
  env file    ${WP_ENV_FILE}
  pids        apache2 $(apache_pid || echo ?)  mariadbd $(cat /run/mysqld/mysqld.pid 2>/dev/null || echo ?)
EOF
}

cmd_stop() {
  local p
  if p=$(apache_pid); then apache2ctl stop || kill "$p"; log "apache: stopped (pid $p)"; else log "apache: not running"; fi
  if p=$(cat /run/mysqld/mysqld.pid 2>/dev/null) && kill -0 "$p" 2>/dev/null; then
    kill "$p"; local i; for i in $(seq 1 120); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$p" 2>/dev/null && die "mariadbd pid $p did not stop"
    log "mariadb: stopped (pid $p)"
  else log "mariadb: not running"; fi
}

cmd_status() {
  echo "apache2 : $(apache_pid || echo 'not running')"
  echo "mariadbd: $(mariadb_up && cat /run/mysqld/mysqld.pid || echo 'not running')"
  echo "GET $WP_URL/wp-json/ -> $(http_code "$WP_URL/wp-json/")"
  [ -s "$WP_ENV_FILE" ] && cat "$WP_ENV_FILE"
  return 0
}

cmd_reset() {
  start_mariadb
  mariadb --protocol=socket -e "DROP DATABASE IF EXISTS \`${WP_DB_NAME}\`;"
  rm -rf "${CONTENT:?}/uploads/"* "$STATEDIR/app-password"
  log "reset: dropped ${WP_DB_NAME}, emptied uploads"
  cmd_setup
}

# Test files may call this at the same time: one setup at a time. (Daemons started above close fd 9.)
lock() {
  ensure_dir 1777 "" /run/lock
  exec 9>/run/lock/setup-wordpress.lock
  flock -w 300 9 || die "another setup-wordpress.sh run holds /run/lock/setup-wordpress.lock"
}

# Sourced (by the tests of its helpers), it only defines them.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
case "${1:-setup}" in
  setup)  lock; cmd_setup ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  reset)  lock; cmd_reset ;;
  *) die "usage: $0 [setup|status|stop|reset]" ;;
esac
