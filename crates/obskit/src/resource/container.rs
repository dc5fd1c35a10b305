//! `container.id`: the 64-hex-digit id a container runtime gives the
//! container this process runs in, read from the kernel's view of the
//! process as the OpenTelemetry SDKs read it.
//!
//! Under cgroup v1 `/proc/self/cgroup` names the container's cgroup, whose
//! last path segment holds the id in one of the runtimes' spellings:
//!
//! ```text
//! 4:memory:/docker/4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970
//! 2:cpu:/system.slice/docker-9ec39b91….scope                        (systemd driver)
//! 1:name=systemd:/kubepods/…/cri-containerd-0b1e….scope            (containerd)
//! 0::/kubepods-burstable-pod…slice:cri-containerd:f2a4…             (containerd ≥ 1.5, systemd)
//! 0::/…/crio-a8f6….scope                                           (CRI-O)
//! ```
//!
//! Under cgroup v2 a container usually has its own cgroup namespace, and
//! `/proc/self/cgroup` says only `0::/`; the id is then found in
//! `/proc/self/mountinfo`, in the source paths of the files the runtime
//! mounts into the container (`/etc/hostname`, `/etc/resolv.conf`,
//! secrets): `/docker/containers/<id>/hostname`,
//! `/containers/storage/overlay-containers/<id>/userdata/…` (Podman, CRI-O),
//! or a `cri-containerd:<id>` cgroup mount.
//!
//! Only 64 lowercase hex digits count as an id: shorter hex runs are common
//! in cgroup paths outside containers (a systemd `session-2.scope`, a
//! sandbox's 32-digit cgroup) and would name a container that does not exist.

use std::path::Path;

/// The id of the container this process runs in, if it runs in one.
pub(crate) fn detect() -> Option<String> {
    detect_in(Path::new("/proc/self"))
}

/// [`detect`] over a `/proc/<pid>` directory.
pub(crate) fn detect_in(proc_dir: &Path) -> Option<String> {
    let read = |name: &str| std::fs::read_to_string(proc_dir.join(name)).ok();
    read("cgroup")
        .as_deref()
        .and_then(from_cgroup)
        .or_else(|| read("mountinfo").as_deref().and_then(from_mountinfo))
}

/// The container id in a `/proc/<pid>/cgroup` file (cgroup v1, or v2 without
/// a cgroup namespace): the first line whose path ends in one.
pub(crate) fn from_cgroup(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        // hierarchy-ID:controller-list:cgroup-path; the path may hold colons.
        let path = line.splitn(3, ':').nth(2)?;
        let last = path.trim_end().rsplit('/').next()?;
        // `docker-<id>.scope`, `crio-<id>.scope`, `…slice:cri-containerd:<id>`, `<id>`.
        let last = last.strip_suffix(".scope").unwrap_or(last);
        let id = last.rsplit([':', '-']).next()?;
        is_id(id).then(|| id.to_owned())
    })
}

/// The container id in a `/proc/<pid>/mountinfo` file, by the rules of the
/// OpenTelemetry SDKs: a CRI-O scope first, then a containerd cgroup, then
/// the last 64-digit segment of a path under a `containers` directory.
pub(crate) fn from_mountinfo(text: &str) -> Option<String> {
    let after = |marker: &str| {
        text.lines().find_map(|line| {
            line.match_indices(marker).find_map(|(at, _)| {
                let rest = &line[at + marker.len()..];
                let id = rest.get(..64)?;
                is_id(id).then(|| id.to_owned())
            })
        })
    };
    after("/crio-")
        .or_else(|| after("cri-containerd:"))
        .or_else(|| {
            text.lines()
                .filter(|line| line.contains("/containers/"))
                .flat_map(|line| line.split([' ', '/']))
                .rfind(|segment| is_id(segment))
                .map(str::to_owned)
        })
}

/// 64 lowercase hex digits: the id every OCI runtime gives a container.
fn is_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines from real machines (Debian with Docker, CentOS with Docker and
    // systemd, Kubernetes nodes with containerd and CRI-O, Podman, a bare
    // cgroup-v2 host, and the sandbox this crate's CI runs in).

    const DOCKER_ID: &str = "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970";

    #[test]
    fn cgroup_v1_docker() {
        let text = format!(
            "10:net_prio:/{DOCKER_ID}\n9:perf_event:/{DOCKER_ID}\n4:memory:/docker/{DOCKER_ID}\n1:name=systemd:/docker/{DOCKER_ID}\n"
        );
        assert_eq!(from_cgroup(&text).as_deref(), Some(DOCKER_ID));
    }

    #[test]
    fn cgroup_v1_docker_under_systemd() {
        let text = "10:devices:/system.slice/docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope\n\
                    2:cpuacct,cpu:/system.slice/docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope\n\
                    1:name=systemd:/system.slice/docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope\n";
        assert_eq!(
            from_cgroup(text).as_deref(),
            Some("9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d")
        );
    }

    #[test]
    fn cgroup_kubernetes_runtimes() {
        let containerd = "12:pids:/kubepods/burstable/pod2c48913c-b29f-11e7-9350-020968147796/cri-containerd-dc64b5743252dbaef6e30521c34d6bbd1620c8ce65bdb7bf9e7143b61bb5b183.scope\n";
        assert_eq!(
            from_cgroup(containerd).as_deref(),
            Some("dc64b5743252dbaef6e30521c34d6bbd1620c8ce65bdb7bf9e7143b61bb5b183")
        );
        let containerd_systemd = "0::/system.slice/containerd.service/kubepods-burstable-pod321c09bf_282b_44e4_a467_39daf144ef1f.slice:cri-containerd:f2a44bc8e090f93a2b4d7f510bdaff0615ad52906e3287ee956dcf5aa5012a91\n";
        assert_eq!(
            from_cgroup(containerd_systemd).as_deref(),
            Some("f2a44bc8e090f93a2b4d7f510bdaff0615ad52906e3287ee956dcf5aa5012a91")
        );
        let crio = "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0a947273_7214_4824_8411_875ebd7626e4.slice/crio-a8f62e52ed7c2cd85242dcf0eb1d727b643540ceca7f328ad7d2f31aedf07731.scope\n";
        assert_eq!(
            from_cgroup(crio).as_deref(),
            Some("a8f62e52ed7c2cd85242dcf0eb1d727b643540ceca7f328ad7d2f31aedf07731")
        );
        let podman = "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-2a33efc76e519c137fe6093179653788bed6162d4a15e5131c8e835c968afbe6.scope\n";
        assert_eq!(
            from_cgroup(podman).as_deref(),
            Some("2a33efc76e519c137fe6093179653788bed6162d4a15e5131c8e835c968afbe6")
        );
    }

    #[test]
    fn cgroup_without_a_container() {
        // A cgroup-v2 container with its own namespace, a desktop session,
        // and this crate's CI sandbox (a 32-digit id that is no container).
        for text in [
            "0::/\n",
            "0::/user.slice/user-1000.slice/session-2.scope\n",
            "9:name=systemd:/\n4:memory:/process_api/3aa1eef5ed73a21289e3236e919cc335\n0::/\n",
            "",
            "garbage without colons\n",
        ] {
            assert_eq!(from_cgroup(text), None, "{text:?}");
        }
    }

    #[test]
    fn mountinfo_docker_cgroup_v2() {
        let text = "456 375 0:143 / / rw,relatime master:175 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/CBPR2ETR4Z3UMOOGIIRDVT2P27,upperdir=/var/lib/docker/overlay2/3ef3e5a1a87b4e220c1da9a7901654e945b0ef5398e1b67fccb42fdb7750829e/diff,workdir=/var/lib/docker/overlay2/3ef3e5a1a87b4e220c1da9a7901654e945b0ef5398e1b67fccb42fdb7750829e/work\n\
                    469 468 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw\n\
                    472 456 254:1 /docker/containers/be522444b60caf2d3934b8b24b916a8a314f4b68d4595aa419874657e8d103f2/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw\n\
                    473 456 254:1 /docker/containers/be522444b60caf2d3934b8b24b916a8a314f4b68d4595aa419874657e8d103f2/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw\n";
        assert_eq!(
            from_mountinfo(text).as_deref(),
            Some("be522444b60caf2d3934b8b24b916a8a314f4b68d4595aa419874657e8d103f2"),
            "the overlay's 64-digit layer ids are not the container"
        );
    }

    #[test]
    fn mountinfo_containerd_prefers_the_cgroup_over_the_sandbox() {
        let text = "2009 2008 0:32 /system.slice/containerd.service/kubepods-burstable-pod321c09bf_282b_44e4_a467_39daf144ef1f.slice:cri-containerd:f2a44bc8e090f93a2b4d7f510bdaff0615ad52906e3287ee956dcf5aa5012a91 /sys/fs/cgroup/systemd ro,nosuid,nodev,noexec,relatime master:11 - cgroup cgroup rw,xattr,name=systemd\n\
                    2023 2002 253:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/b136f3d296b4c2024b3e7ad816f2a804a47cf1acc3d445075c6d78cf159ef58d/hostname /etc/hostname rw,relatime - xfs /dev/mapper/ubuntu--vg-root rw\n";
        assert_eq!(
            from_mountinfo(text).as_deref(),
            Some("f2a44bc8e090f93a2b4d7f510bdaff0615ad52906e3287ee956dcf5aa5012a91")
        );
    }

    #[test]
    fn mountinfo_crio_takes_the_container_not_the_pod_sandbox() {
        let text = "10311 10303 0:25 /containers/storage/overlay-containers/2ac4c84cb0d3c3beb04beeef6ccf71c17b5fdd0252ce3a2b66bc2fdd0aaa1814/userdata/resolv.conf /etc/resolv.conf rw,nosuid,nodev,noexec master:15 - tmpfs tmpfs rw,seclabel\n\
                    10312 10303 0:25 /containers/storage/overlay-containers/2ac4c84cb0d3c3beb04beeef6ccf71c17b5fdd0252ce3a2b66bc2fdd0aaa1814/userdata/hostname /etc/hostname rw,nosuid,nodev master:15 - tmpfs tmpfs rw,seclabel\n\
                    10316 10303 0:25 /containers/storage/overlay-containers/a8f62e52ed7c2cd85242dcf0eb1d727b643540ceca7f328ad7d2f31aedf07731/userdata/run/secrets /run/secrets rw,nosuid,nodev - tmpfs tmpfs rw,seclabel\n";
        assert_eq!(
            from_mountinfo(text).as_deref(),
            Some("a8f62e52ed7c2cd85242dcf0eb1d727b643540ceca7f328ad7d2f31aedf07731")
        );
        let scope = "1 0 0:26 /kubepods.slice/crio-b4873629b312dc1d77472aba6fb177c6ce9a8f7c205ad7a03302726805007fe6.scope /sys/fs/cgroup ro - cgroup2 cgroup rw\n";
        assert_eq!(
            from_mountinfo(scope).as_deref(),
            Some("b4873629b312dc1d77472aba6fb177c6ce9a8f7c205ad7a03302726805007fe6")
        );
    }

    #[test]
    fn mountinfo_without_a_container() {
        let host = "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
                    27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n\
                    30 27 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(from_mountinfo(host), None);
        assert_eq!(from_mountinfo(""), None);
    }

    #[test]
    fn detection_reads_the_proc_files_and_falls_back_to_mountinfo() {
        let dir = std::env::temp_dir().join(format!("obskit-cgroup-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(detect_in(&dir), None, "no files: no id");
        std::fs::write(dir.join("cgroup"), "0::/\n").unwrap();
        std::fs::write(
            dir.join("mountinfo"),
            format!("1 0 254:1 /docker/containers/{DOCKER_ID}/hostname /etc/hostname rw - ext4 /dev/vda1 rw\n"),
        )
        .unwrap();
        assert_eq!(detect_in(&dir).as_deref(), Some(DOCKER_ID));
        std::fs::remove_dir_all(&dir).unwrap();
        // This process: whatever it finds is a well-formed id.
        if let Some(id) = detect() {
            assert!(is_id(&id), "{id}");
        }
    }
}
