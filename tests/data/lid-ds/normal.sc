1631609708128108442 33 206290 apache2 206290 openat > dirfd=-100(AT_FDCWD) name=/etc/passwd flags=1(O_RDONLY) mode=0
1631609708128109000 33 206290 apache2 206291 futex > addr=7F0 op=128(FUTEX_PRIVATE_FLAG|FUTEX_WAIT) val=0
1631609708128119186 33 206290 apache2 206290 openat < fd=13(<f>/etc/passwd) dirfd=-100(AT_FDCWD) name=/etc/passwd flags=1(O_RDONLY) mode=0 dev=803
1631609708128120000 33 206290 apache2 206290 read > fd=13(<f>/etc/passwd) size=4096
1631609708128125000 33 206290 apache2 206290 read < res=1024 data=root:x:0:0:root:/root:/bin/bash..
1631609708128126000 33 206290 apache2 206290 switch > next=0 pgft_maj=0 pgft_min=0
1631609708128130000 33 206290 apache2 206290 stat >
1631609708128131000 33 206290 apache2 206290 stat < res=-2(ENOENT) path=/var/www/missing
1631609708128140000 33 206290 apache2 206290 clone >
1631609708128150000 33 206290 apache2 206290 clone < res=206300 exe=/usr/sbin/apache2 args= flags=0
1631609708128160000 33 206300 apache2 206300 clone < res=0 exe=/usr/sbin/apache2
1631609708128170000 33 206290 apache2 206290 close > fd=13(<f>/etc/passwd)
1631609708128171000 33 206290 apache2 206290 close < res=0
