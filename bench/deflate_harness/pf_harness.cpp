// pf_harness raw.deflate: split with preflate, rebuild, compare. Prints: deflate_size correction_size
// uncompressed_size analyse_cpu_seconds rebuild_cpu_seconds exact(0/1)
#include <ctime>
#include <cstdio>
#include <vector>
#include "preflate.h"
static std::vector<unsigned char> rd(const char* p){FILE*f=fopen(p,"rb");std::vector<unsigned char> v;unsigned char b[65536];size_t n;while((n=fread(b,1,sizeof b,f))>0)v.insert(v.end(),b,b+n);fclose(f);return v;}
int main(int argc,char**argv){
  auto raw=rd(argv[1]);
  std::vector<unsigned char> un,diff,re;
  auto t0=std::clock();
  bool ok1=preflate_decode(un,diff,raw);
  auto t1=std::clock();
  bool ok2=ok1&&preflate_reencode(re,diff,un);
  auto t2=std::clock();
  double a=double(t1-t0)/CLOCKS_PER_SEC, b=double(t2-t1)/CLOCKS_PER_SEC;
  printf("%zu %zu %zu %.4f %.4f %d\n",raw.size(),diff.size(),un.size(),a,b,(int)(ok2&&re==raw));
  return 0;}
