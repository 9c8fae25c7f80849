// gb_harness raw.deflate [choices_out]: the same as pf_harness with grittibanzli; choices_out gets the
// (uncompressed) choices so the caller can measure them compressed.
#include <ctime>
#include <cstdio>
#include <vector>
#include "grittibanzli.h"
static std::vector<uint8_t> rd(const char* p){FILE*f=fopen(p,"rb");std::vector<uint8_t> v;unsigned char b[65536];size_t n;while((n=fread(b,1,sizeof b,f))>0)v.insert(v.end(),b,b+n);fclose(f);return v;}
int main(int argc,char**argv){
  auto raw=rd(argv[1]);
  std::vector<uint8_t> un,ch,re;
  auto t0=std::clock();
  bool ok1=grittibanzli::Grittibanzli(raw.data(),raw.size(),&un,&ch);
  auto t1=std::clock();
  bool ok2=ok1&&grittibanzli::Ungrittibanzli(un.data(),un.size(),ch.data(),ch.size(),&re);
  auto t2=std::clock();
  if(argc>2){FILE*f=fopen(argv[2],"wb");fwrite(ch.data(),1,ch.size(),f);fclose(f);}
  double a=double(t1-t0)/CLOCKS_PER_SEC, b=double(t2-t1)/CLOCKS_PER_SEC;
  printf("%zu %zu %zu %.4f %.4f %d\n",raw.size(),ch.size(),un.size(),a,b,(int)(ok2&&re==raw));
  return 0;}
