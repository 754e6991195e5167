//! OpenLDAP's slapd for the directory tests: started on 127.0.0.1 on free ports (ldap:// with
//! STARTTLS, and ldaps://), as the openldap user, with a throw-away mdb database in its own temp
//! dir, a slapd.conf written here, a self-signed certificate for 127.0.0.1, and the LDIF a test
//! gives loaded with `slapadd` before the start. Paged searches return everything
//! (`size.prtotal=unlimited`); plain searches keep slapd's default limit of 500.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::scanning::base64;
use crate::services::{
    free_port, log_file, release_dir, run_with_timeout, short_tempdir, stop, tail, tool,
};

pub const SUFFIX: &str = "dc=example,dc=test";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=test";
pub const ADMIN_PW: &str = "s3cret-admin-pw";

pub struct Slapd {
    pub port: u16,
    pub tls_port: u16,
    pub dir: PathBuf,
    /// The CA that signed the server's certificate, for `tls-ca-file`.
    pub cert: PathBuf,
    child: Option<Child>,
    tmp: Option<TempDir>,
}

/// `attr: value`, base64 (`attr:: …`) when the value is not plain ASCII.
pub fn ldif_line(attr: &str, value: &str) -> String {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) && !value.starts_with([' ', ':', '<']) {
        format!("{attr}: {value}\n")
    } else {
        format!("{attr}:: {}\n", base64(value.as_bytes()))
    }
}

/// A CA (`ca.pem`, the one clients trust) and the server's certificate for 127.0.0.1 signed by
/// it (`cert.pem`, `key.pem`): rustls refuses a self-signed CA certificate as a server's.
pub fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let (st, _, err) = run_with_timeout(
            Command::new(tool("openssl")).args(args).current_dir(dir),
            Duration::from_secs(30),
        )
        .unwrap();
        assert!(
            st.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&err)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "req.pem",
    ]);
    fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "req.pem",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
}

/// The suffix and the three containers every test directory has.
pub fn base_ldif() -> String {
    format!(
        "dn: {SUFFIX}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n\
         o: Example Test\ndc: example\n\n\
         dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=organisations,{SUFFIX}\nobjectClass: organizationalUnit\nou: organisations\n\n\
         dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n"
    )
}

impl Slapd {
    /// Loads `ldif` into a new database and starts slapd.
    pub fn start(ldif: &str) -> Slapd {
        let tmp = short_tempdir("pldap-");
        let dir = tmp.path().to_path_buf();
        fs::create_dir_all(dir.join("db")).unwrap();
        fs::create_dir_all(dir.join("run")).unwrap();
        let cert = dir.join("ca.pem");
        certificates(&dir);
        let hash = run_with_timeout(
            Command::new(tool("slappasswd")).args(["-s", ADMIN_PW]),
            Duration::from_secs(10),
        )
        .unwrap()
        .1;
        let hash = String::from_utf8(hash).unwrap().trim().to_string();
        let d = dir.display();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include /etc/ldap/schema/nis.schema\n\
             pidfile {d}/run/slapd.pid\nargsfile {d}/run/slapd.args\n\
             modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             TLSCertificateFile {d}/cert.pem\nTLSCertificateKeyFile {d}/key.pem\n\
             loglevel none\n\n\
             database mdb\nmaxsize 1073741824\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN_DN}\"\n\
             rootpw {hash}\ndirectory {d}/db\n\
             limits * size.prtotal=unlimited\n\
             index objectClass eq\nindex uid,mail,cn eq\n\
             access to attrs=userPassword by self write by anonymous auth by * none\n\
             access to * by * read\n"
        );
        fs::write(dir.join("slapd.conf"), conf).unwrap();
        fs::write(dir.join("data.ldif"), ldif).unwrap();
        let (st, _, err) = run_with_timeout(
            Command::new(tool("slapadd"))
                .arg("-q")
                .arg("-f")
                .arg(dir.join("slapd.conf"))
                .arg("-l")
                .arg(dir.join("data.ldif")),
            Duration::from_secs(300),
        )
        .unwrap();
        assert!(st.success(), "slapadd: {}", String::from_utf8_lossy(&err));
        let chown = Command::new("chown")
            .args(["-R", "openldap:openldap"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(chown.success());
        let mut s = Slapd {
            port: free_port(),
            tls_port: free_port(),
            dir,
            cert,
            child: None,
            tmp: Some(tmp),
        };
        s.run();
        s
    }

    /// Starts slapd on the database as it is (again after `stop`).
    pub fn run(&mut self) {
        assert!(self.child.is_none());
        let mut child = Command::new(tool("setpriv"))
            .args(["--reuid=openldap", "--regid=openldap", "--init-groups"])
            .arg(tool("slapd"))
            .args(["-d", "0", "-f"])
            .arg(self.dir.join("slapd.conf"))
            .arg("-h")
            .arg(format!(
                "ldap://127.0.0.1:{}/ ldaps://127.0.0.1:{}/",
                self.port, self.tls_port
            ))
            .stdin(Stdio::null())
            .stdout(log_file(&self.dir.join("stdout.log")))
            .stderr(log_file(&self.dir.join("slapd.log")))
            .spawn()
            .expect("start slapd");
        let t = Instant::now();
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                panic!(
                    "slapd exited: {st}: {}",
                    tail(&self.dir.join("slapd.log"), 20)
                );
            }
            let probe = Command::new(tool("ldapsearch"))
                .args([
                    "-x",
                    "-H",
                    &self.url(),
                    "-s",
                    "base",
                    "-b",
                    "",
                    "namingContexts",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            if probe.success() {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "slapd did not answer"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.tls_port)
    }

    /// `ldapmodify` as the admin (changetype lines in `ldif`).
    pub fn modify(&self, ldif: &str) {
        let path = self.dir.join("change.ldif");
        fs::write(&path, ldif).unwrap();
        let (st, out, err) = run_with_timeout(
            Command::new(tool("ldapmodify"))
                .args([
                    "-x",
                    "-H",
                    &self.url(),
                    "-D",
                    ADMIN_DN,
                    "-w",
                    ADMIN_PW,
                    "-f",
                ])
                .arg(&path),
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(
            st.success(),
            "ldapmodify: {}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop(&mut c);
        }
    }

    pub fn log(&self) -> String {
        tail(&self.dir.join("slapd.log"), 40)
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
        release_dir(&mut self.tmp);
    }
}

/// The configuration a desk needs to read `slapd` (`extra`: more keys of `[directory.ldap]`).
pub fn ldap_config(url: &str, cert: &Path, password_file: &str, extra: &str) -> String {
    format!(
        "[directory]\ncountry-code = \"49\"\narea-code = \"541\"\n\
         [directory.ldap]\nurl = \"{url}\"\ntls-ca-file = \"{}\"\n\
         bind-dn = \"{ADMIN_DN}\"\npassword-file = \"{password_file}\"\n\
         people-base = \"ou=people,{SUFFIX}\"\n\
         organisations-base = \"ou=organisations,{SUFFIX}\"\n\
         groups-base = \"ou=groups,{SUFFIX}\"\n{extra}\n",
        cert.display()
    )
}
