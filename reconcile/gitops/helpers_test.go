package gitops
