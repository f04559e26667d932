# syntax=docker/dockerfile:1
# The Deno binary alone, like denoland/deno:bin-<version> (the image the signaling-deno image copies /deno from):
# the stand-in where no image registry is reachable. The binary is the one npm installed for the `deno`
# devDependency (node_modules/@deno/linux-x64-glibc), handed in as the named build context deno-dist.
FROM scratch
COPY --from=deno-dist deno /deno
